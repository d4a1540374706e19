ALTER TABLE `api_clients` ADD `previous_secret_hash` text;--> statement-breakpoint
ALTER TABLE `api_clients` ADD `previous_secret_expires_at` integer;--> statement-breakpoint
ALTER TABLE `api_clients` ADD `rate_per_second` real;--> statement-breakpoint
ALTER TABLE `api_clients` ADD `rate_burst` integer;--> statement-breakpoint
CREATE INDEX `api_clients_revoked_idx` ON `api_clients` (`revoked_at`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `rate_per_second` real;--> statement-breakpoint
ALTER TABLE `tenants` ADD `rate_burst` integer;