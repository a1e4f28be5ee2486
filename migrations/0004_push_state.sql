ALTER TABLE `apple_enrollments` ADD `last_push_at` integer;--> statement-breakpoint
ALTER TABLE `apple_enrollments` ADD `last_push_result` text;--> statement-breakpoint
ALTER TABLE `apple_enrollments` ADD `push_blocked` text;