ALTER TABLE `api_clients` ADD `monthly_prediction_quota` integer;--> statement-breakpoint
ALTER TABLE `tenants` ADD `monthly_prediction_quota` integer;