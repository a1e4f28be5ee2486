CREATE TABLE `apple_policy_profiles` (
	`device_id` text NOT NULL,
	`identifier` text NOT NULL,
	`policy_id` text NOT NULL,
	`policy_name` text NOT NULL,
	`policy_version` integer NOT NULL,
	`state` text NOT NULL,
	`command_uuid` text NOT NULL,
	`error_code` text,
	`error_message` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `identifier`)
);
