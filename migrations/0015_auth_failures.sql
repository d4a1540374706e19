CREATE TABLE `auth_failures` (
	`client_id` text NOT NULL,
	`source` text NOT NULL,
	`failures` integer NOT NULL,
	`window_start` integer NOT NULL,
	PRIMARY KEY(`client_id`, `source`)
);
