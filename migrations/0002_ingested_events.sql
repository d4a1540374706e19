CREATE TABLE `ingested_events` (
	`event_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ingested_events_tenant_time_idx` ON `ingested_events` (`tenant_id`,`occurred_at`);