CREATE TABLE `certificates` (
	`serial` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL,
	`status` text DEFAULT 'valid' NOT NULL,
	`revoked_at` integer,
	`revocation_reason` integer,
	`owner` text,
	`public_key_sha256` text NOT NULL,
	`scep_transaction_id` text,
	`scep_request_id` text,
	`renewed_from` text,
	`der` blob NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `certificates_scep_request` ON `certificates` (`scep_request_id`);--> statement-breakpoint
CREATE INDEX `certificates_scep_txn` ON `certificates` (`scep_transaction_id`,`public_key_sha256`);--> statement-breakpoint
CREATE INDEX `certificates_status` ON `certificates` (`status`,`not_after`);--> statement-breakpoint
CREATE INDEX `certificates_kind` ON `certificates` (`kind`,`created_at`);--> statement-breakpoint
CREATE TABLE `pki_authorities` (
	`name` text PRIMARY KEY NOT NULL,
	`cert_der` blob NOT NULL,
	`key_sealed` blob NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `pki_crls` (
	`number` integer PRIMARY KEY NOT NULL,
	`this_update` integer NOT NULL,
	`next_update` integer NOT NULL,
	`der` blob NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scep_challenges` (
	`id` text PRIMARY KEY NOT NULL,
	`hash` text NOT NULL,
	`purpose` text DEFAULT 'cli' NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`used_by_serial` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scep_challenges_hash` ON `scep_challenges` (`hash`);--> statement-breakpoint
CREATE INDEX `scep_challenges_expiry` ON `scep_challenges` (`expires_at`);