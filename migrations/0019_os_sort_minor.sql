DROP INDEX `apple_devices_sort_os`;--> statement-breakpoint
CREATE INDEX `apple_devices_sort_os` ON `apple_devices` (printf('%s %05d %05d %s', "platform", CAST("os_version" AS INTEGER), iif(instr("os_version", '.') > 0, CAST(substr("os_version", instr("os_version", '.') + 1) AS INTEGER), 0), "os_version"),`id`);--> statement-breakpoint
DROP INDEX `android_devices_sort_os`;--> statement-breakpoint
CREATE INDEX `android_devices_sort_os` ON `android_devices` (printf('%s %05d %05d %s', 'android', CAST("android_version" AS INTEGER), iif(instr("android_version", '.') > 0, CAST(substr("android_version", instr("android_version", '.') + 1) AS INTEGER), 0), "android_version"),`id`);
