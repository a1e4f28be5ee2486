CREATE TABLE `android_commands` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`type` text NOT NULL,
	`params` text,
	`operation_name` text,
	`status` text NOT NULL,
	`error_code` text,
	`error_message` text,
	`result` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `android_commands_device` ON `android_commands` (`device_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `android_commands_operation` ON `android_commands` (`operation_name`);--> statement-breakpoint
CREATE INDEX `android_commands_status` ON `android_commands` (`status`);--> statement-breakpoint
CREATE TABLE `android_devices` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`enterprise_name` text NOT NULL,
	`state` text,
	`status` text NOT NULL,
	`ownership` text,
	`management_mode` text,
	`user_email` text,
	`enrollment_token_id` text,
	`serial_number` text,
	`device_name` text,
	`model` text,
	`brand` text,
	`manufacturer` text,
	`android_version` text,
	`security_patch_level` text,
	`api_level` integer,
	`policy_name` text,
	`applied_policy_name` text,
	`applied_policy_version` text,
	`applied_state` text,
	`policy_compliant` integer,
	`non_compliance_details` text,
	`hardware_info` text,
	`software_info` text,
	`last_status_report_at` integer,
	`last_policy_sync_at` integer,
	`enrolled_at` integer,
	`reported_at` integer NOT NULL,
	`removed_at` integer,
	`seen_in_list_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `android_devices_name` ON `android_devices` (`name`);--> statement-breakpoint
CREATE INDEX `android_devices_status` ON `android_devices` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `android_devices_name_lower` ON `android_devices` (lower("device_name"));--> statement-breakpoint
CREATE INDEX `android_devices_serial_lower` ON `android_devices` (lower("serial_number"));--> statement-breakpoint
CREATE INDEX `android_devices_model_lower` ON `android_devices` (lower("model"));--> statement-breakpoint
CREATE INDEX `android_devices_user_email_lower` ON `android_devices` (lower("user_email"));