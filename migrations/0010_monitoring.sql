CREATE TABLE `monitoring_hourly` (
	`tenant_id` text NOT NULL,
	`version_id` text NOT NULL,
	`hour` integer NOT NULL,
	`records` integer DEFAULT 0 NOT NULL,
	`contacts` integer DEFAULT 0 NOT NULL,
	`variants` text DEFAULT '{}' NOT NULL,
	`sketch` text,
	`rejected_records` integer DEFAULT 0 NOT NULL,
	`rejected_fields` text DEFAULT '{}' NOT NULL,
	PRIMARY KEY(`tenant_id`, `version_id`, `hour`)
);
--> statement-breakpoint
CREATE TABLE `monitoring_settings` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`settings` text NOT NULL,
	`updated_at` integer NOT NULL,
	`updated_by` text NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `pending_feedback` (
	`tenant_id` text NOT NULL,
	`event_id` text NOT NULL,
	`position` integer NOT NULL,
	`customer_id` text,
	`prediction_id` text,
	`churned` integer NOT NULL,
	`observed_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `position`)
);
--> statement-breakpoint
CREATE INDEX `pending_feedback_tenant_prediction_idx` ON `pending_feedback` (`tenant_id`,`prediction_id`);--> statement-breakpoint
CREATE INDEX `pending_feedback_tenant_customer_idx` ON `pending_feedback` (`tenant_id`,`customer_id`);--> statement-breakpoint
CREATE INDEX `pending_feedback_received_idx` ON `pending_feedback` (`received_at`);--> statement-breakpoint
CREATE TABLE `predictions` (
	`tenant_id` text NOT NULL,
	`prediction_id` text NOT NULL,
	`customer_id` text,
	`version_id` text NOT NULL,
	`variant` text NOT NULL,
	`probability` real NOT NULL,
	`contact` integer NOT NULL,
	`predicted_at` integer NOT NULL,
	`label` integer,
	`labeled_at` integer,
	PRIMARY KEY(`tenant_id`, `prediction_id`)
);
--> statement-breakpoint
CREATE INDEX `predictions_tenant_customer_time_idx` ON `predictions` (`tenant_id`,`customer_id`,`predicted_at`);--> statement-breakpoint
CREATE INDEX `predictions_tenant_time_idx` ON `predictions` (`tenant_id`,`predicted_at`);--> statement-breakpoint
CREATE TABLE `raw_records` (
	`tenant_id` text NOT NULL,
	`prediction_id` text NOT NULL,
	`record` text NOT NULL,
	`stored_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `prediction_id`)
);
--> statement-breakpoint
CREATE INDEX `raw_records_tenant_stored_idx` ON `raw_records` (`tenant_id`,`stored_at`);