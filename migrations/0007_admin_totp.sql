CREATE TABLE `admin_login_challenges` (
	`hash` text PRIMARY KEY NOT NULL,
	`admin_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`admin_id`) REFERENCES `admins`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `admin_login_challenges_expires` ON `admin_login_challenges` (`expires_at`);--> statement-breakpoint
ALTER TABLE `admins` ADD `totp_secret` blob;--> statement-breakpoint
ALTER TABLE `admins` ADD `totp_pending` blob;--> statement-breakpoint
ALTER TABLE `admins` ADD `totp_last_step` integer;