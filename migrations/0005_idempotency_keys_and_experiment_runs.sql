CREATE TABLE `experiment_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`model_version_id` text,
	`family` text NOT NULL,
	`params` text NOT NULL,
	`metrics` text NOT NULL,
	`seconds` real NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`model_version_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `experiment_runs_version_idx` ON `experiment_runs` (`model_version_id`);--> statement-breakpoint
CREATE INDEX `experiment_runs_tenant_idx` ON `experiment_runs` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`tenant_id` text NOT NULL,
	`principal` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`body` text,
	`resource_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `principal`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_idx` ON `idempotency_keys` (`created_at`);