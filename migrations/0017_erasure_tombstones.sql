CREATE TABLE `erasure_tombstones` (
	`tenant_id` text NOT NULL,
	`subject_hash` text NOT NULL,
	`erasure_id` text NOT NULL,
	`erased_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `subject_hash`)
);
