CREATE TABLE `push_certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`topic` text NOT NULL,
	`cert_der` blob NOT NULL,
	`key_sealed` blob NOT NULL,
	`serial` text NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `push_certificates_status` ON `push_certificates` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash` ON `api_tokens` (`hash`);--> statement-breakpoint
CREATE TABLE `apple_command_targets` (
	`command_uuid` text NOT NULL,
	`enrollment_id` text NOT NULL,
	`status` text NOT NULL,
	`priority` integer NOT NULL,
	`queued_at` integer NOT NULL,
	`result_plist` blob,
	`result` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`command_uuid`, `enrollment_id`)
);
--> statement-breakpoint
CREATE INDEX `apple_command_targets_next` ON `apple_command_targets` (`enrollment_id`,`status`,`priority`,`queued_at`);--> statement-breakpoint
CREATE TABLE `apple_commands` (
	`uuid` text PRIMARY KEY NOT NULL,
	`request_type` text NOT NULL,
	`plist` blob NOT NULL,
	`params` text,
	`priority` integer DEFAULT 0 NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `apple_commands_created` ON `apple_commands` (`created_at`);--> statement-breakpoint
CREATE TABLE `apple_devices` (
	`id` text PRIMARY KEY NOT NULL,
	`udid` text,
	`serial_number` text,
	`device_name` text,
	`model` text,
	`model_name` text,
	`product_name` text,
	`os_version` text,
	`build_version` text,
	`platform` text,
	`device_information` text,
	`security_info` text,
	`installed_apps` text,
	`profiles` text,
	`certificates` text,
	`inventory_updated_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `apple_devices_serial` ON `apple_devices` (`serial_number`);--> statement-breakpoint
CREATE TABLE `apple_enrollments` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`device_id` text NOT NULL,
	`status` text NOT NULL,
	`cert_sha256` text,
	`topic` text,
	`push_token` text,
	`push_magic` text,
	`unlock_token_sealed` blob,
	`bootstrap_token_sealed` blob,
	`user_short_name` text,
	`user_long_name` text,
	`enrollment_token_id` text,
	`ownership` text DEFAULT 'corporate' NOT NULL,
	`user_email` text,
	`authenticated_at` integer,
	`enrolled_at` integer,
	`unenrolled_at` integer,
	`token_updated_at` integer,
	`last_seen_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `apple_enrollments_device` ON `apple_enrollments` (`device_id`);--> statement-breakpoint
CREATE INDEX `apple_enrollments_cert` ON `apple_enrollments` (`cert_sha256`);--> statement-breakpoint
CREATE INDEX `apple_enrollments_status` ON `apple_enrollments` (`status`,`last_seen_at`);--> statement-breakpoint
CREATE TABLE `enrollment_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`hash` text NOT NULL,
	`user_email` text,
	`ownership` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`challenge_id` text,
	`enrollment_id` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollment_tokens_hash` ON `enrollment_tokens` (`hash`);