-- Existing versions' bytes move to model_version_artifacts before the next migration drops the columns.
INSERT INTO `model_version_artifacts` (`model_version_id`, `onnx`, `explainer`)
SELECT `id`, `onnx`, `explainer` FROM `model_versions`;
