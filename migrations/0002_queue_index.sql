DROP INDEX `apple_command_targets_next`;--> statement-breakpoint
CREATE INDEX `apple_command_targets_queue` ON `apple_command_targets` (`enrollment_id`,`status`,"priority" DESC,`queued_at`);