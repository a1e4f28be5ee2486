CREATE TABLE `android_enrollment_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`enterprise_name` text NOT NULL,
	`name` text NOT NULL,
	`value` text NOT NULL,
	`qr_code` text NOT NULL,
	`policy_id` text NOT NULL,
	`ownership` text NOT NULL,
	`work_profile` integer NOT NULL,
	`allow_personal_usage` text NOT NULL,
	`one_time_only` integer NOT NULL,
	`user_email` text,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`enterprise_name`) REFERENCES `android_enterprises`(`name`) ON UPDATE no action ON DELETE cascade
);
