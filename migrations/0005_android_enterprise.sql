CREATE TABLE `android_enterprises` (
	`name` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`display_name` text,
	`pubsub_topic` text,
	`notification_types` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `android_policies` (
	`enterprise_name` text NOT NULL,
	`policy_id` text NOT NULL,
	`policy` text NOT NULL,
	`version` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`enterprise_name`, `policy_id`),
	FOREIGN KEY (`enterprise_name`) REFERENCES `android_enterprises`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `android_service_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`client_email` text NOT NULL,
	`project_id` text NOT NULL,
	`key_sealed` blob NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `android_signup_urls` (
	`name` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`url` text NOT NULL,
	`project_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `android_signup_urls_state` ON `android_signup_urls` (`state`);