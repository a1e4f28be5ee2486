CREATE TABLE `apple_managed_apps` (
	`device_id` text NOT NULL,
	`bundle_id` text NOT NULL,
	`state` text NOT NULL,
	`command_uuid` text NOT NULL,
	`device_state` text,
	`error_code` text,
	`error_message` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `bundle_id`)
);
--> statement-breakpoint
CREATE TABLE `apps` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`platform` text NOT NULL,
	`source` text NOT NULL,
	`identifier` text NOT NULL,
	`itunes_store_id` integer,
	`manifest_url` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `apps_platform_identifier` ON `apps` (`platform`,`identifier`);