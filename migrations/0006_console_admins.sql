CREATE TABLE `admin_sessions` (
	`hash` text PRIMARY KEY NOT NULL,
	`admin_id` text NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`admin_id`) REFERENCES `admins`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `admin_sessions_expires` ON `admin_sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `admin_sessions_admin` ON `admin_sessions` (`admin_id`);--> statement-breakpoint
CREATE TABLE `admin_setup_tokens` (
	`hash` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `admins` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `admins_username` ON `admins` (`username`);--> statement-breakpoint
CREATE TABLE `login_failures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`address` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `login_failures_username` ON `login_failures` (`username`,`at`);--> statement-breakpoint
CREATE INDEX `login_failures_address` ON `login_failures` (`address`,`at`);--> statement-breakpoint
CREATE INDEX `apple_devices_name_lower` ON `apple_devices` (lower("device_name"));--> statement-breakpoint
CREATE INDEX `apple_devices_serial_lower` ON `apple_devices` (lower("serial_number"));--> statement-breakpoint
CREATE INDEX `apple_devices_model_lower` ON `apple_devices` (lower("model"));--> statement-breakpoint
CREATE INDEX `apple_devices_model_name_lower` ON `apple_devices` (lower("model_name"));--> statement-breakpoint
CREATE INDEX `apple_devices_platform` ON `apple_devices` (`platform`,`id`);--> statement-breakpoint
CREATE INDEX `apple_enrollments_enrolled_at` ON `apple_enrollments` (`enrolled_at`);--> statement-breakpoint
CREATE INDEX `apple_enrollments_user_email` ON `apple_enrollments` (lower("user_email"));