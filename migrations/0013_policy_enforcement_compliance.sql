CREATE TABLE `android_policy_buckets` (
	`name` text PRIMARY KEY NOT NULL,
	`enterprise_name` text NOT NULL,
	`policy_id` text NOT NULL,
	`ownership` text NOT NULL,
	`sent_version` integer,
	`google_version` text,
	`error_code` text,
	`error_message` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `android_policy_targets` (
	`device_id` text PRIMARY KEY NOT NULL,
	`enrolled_policy_name` text,
	`policy_id` text,
	`policy_version` integer,
	`policy_name` text,
	`status` text NOT NULL,
	`error_code` text,
	`error_message` text,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `android_policy_targets_status` ON `android_policy_targets` (`status`);--> statement-breakpoint
CREATE TABLE `compliance_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` text NOT NULL,
	`state` text NOT NULL,
	`previous_state` text,
	`failing_rules` text NOT NULL,
	`policy_id` text,
	`policy_version` integer,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `compliance_events_device` ON `compliance_events` (`device_id`,`id`);--> statement-breakpoint
CREATE TABLE `device_compliance` (
	`device_id` text PRIMARY KEY NOT NULL,
	`platform` text,
	`state` text NOT NULL,
	`reason` text,
	`failing_rules` text NOT NULL,
	`policy_id` text,
	`policy_version` integer,
	`evaluated_at` integer NOT NULL,
	`changed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `device_compliance_state` ON `device_compliance` (`state`);