DROP INDEX `device_compliance_state`;--> statement-breakpoint
CREATE INDEX `device_compliance_state` ON `device_compliance` (`state`,`device_id`);--> statement-breakpoint
CREATE INDEX `device_compliance_device_state` ON `device_compliance` (`device_id`,`state`);--> statement-breakpoint
CREATE INDEX `apple_devices_sort_name` ON `apple_devices` (lower(coalesce("device_name", '')),`id`);--> statement-breakpoint
CREATE INDEX `apple_devices_sort_model` ON `apple_devices` (lower(coalesce("model_name", "model", '')),`id`);--> statement-breakpoint
CREATE INDEX `apple_devices_sort_os` ON `apple_devices` (printf('%s %05d %s', "platform", CAST("os_version" AS INTEGER), "os_version"),`id`);--> statement-breakpoint
CREATE INDEX `apple_enrollments_sort_enrolled` ON `apple_enrollments` (coalesce("enrolled_at", -1),`id`);--> statement-breakpoint
CREATE INDEX `apple_enrollments_sort_last_seen` ON `apple_enrollments` (coalesce("last_seen_at", -1),`id`);--> statement-breakpoint
CREATE INDEX `android_devices_sort_name` ON `android_devices` (lower(coalesce("device_name", '')),`id`);--> statement-breakpoint
CREATE INDEX `android_devices_sort_model` ON `android_devices` (lower(coalesce("manufacturer", "model", '')),`id`);--> statement-breakpoint
CREATE INDEX `android_devices_sort_os` ON `android_devices` (printf('%s %05d %s', 'android', CAST("android_version" AS INTEGER), "android_version"),`id`);--> statement-breakpoint
CREATE INDEX `android_devices_sort_enrolled` ON `android_devices` (coalesce("enrolled_at", -1),`id`);--> statement-breakpoint
CREATE INDEX `android_devices_sort_last_seen` ON `android_devices` (coalesce("last_status_report_at", -1),`id`);
