CREATE TABLE `model_version_artifacts` (
	`model_version_id` text PRIMARY KEY NOT NULL,
	`onnx` blob NOT NULL,
	`explainer` blob,
	FOREIGN KEY (`model_version_id`) REFERENCES `model_versions`(`id`) ON UPDATE no action ON DELETE no action
);
