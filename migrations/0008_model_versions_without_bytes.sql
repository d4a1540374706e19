ALTER TABLE `model_versions` DROP COLUMN `onnx`;--> statement-breakpoint
ALTER TABLE `model_versions` DROP COLUMN `explainer`;