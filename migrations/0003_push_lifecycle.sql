CREATE TABLE `push_csrs` (
	`id` text PRIMARY KEY NOT NULL,
	`subject` text NOT NULL,
	`csr_der` blob NOT NULL,
	`spki_der` blob NOT NULL,
	`key_sealed` blob NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`certificate_id` text
);
--> statement-breakpoint
CREATE INDEX `push_csrs_status` ON `push_csrs` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `push_vendor_certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`subject` text NOT NULL,
	`serial` text NOT NULL,
	`cert_der` blob NOT NULL,
	`chain_der` blob NOT NULL,
	`key_sealed` blob NOT NULL,
	`not_before` integer NOT NULL,
	`not_after` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `push_vendor_certificates_status` ON `push_vendor_certificates` (`status`,`created_at`);