import { OpenAPIHono } from "@hono/zod-openapi";
import { issuesFromZod, validationError } from "#shared/errors.ts";
import { registerAlertsList } from "../modules/alerts/routes/v1_alerts_list.ts";
import { registerAlertRulesGet } from "../modules/alerts/routes/v1_alerts_rules_get.ts";
import { registerAlertRulesPut } from "../modules/alerts/routes/v1_alerts_rules_put.ts";
import { registerWebhooksCreate } from "../modules/alerts/routes/v1_webhooks_create.ts";
import { registerWebhooksDelete } from "../modules/alerts/routes/v1_webhooks_delete.ts";
import { registerWebhookDeliveries } from "../modules/alerts/routes/v1_webhooks_deliveries.ts";
import { registerWebhooksList } from "../modules/alerts/routes/v1_webhooks_list.ts";
import { registerAuditExport } from "../modules/audit/routes/v1_audit_export.ts";
import { registerAuditList } from "../modules/audit/routes/v1_audit_list.ts";
import { registerAuditVerify } from "../modules/audit/routes/v1_audit_verify.ts";
import { registerConsole } from "../modules/console/app.ts";
import { SAML_ACS_MAX_BYTES, SAML_ACS_PATH } from "../modules/console/routes/console_saml_acs.ts";
import { registerDeploymentGet } from "../modules/deployments/routes/v1_deployment_get.ts";
import { registerDeploymentHistory } from "../modules/deployments/routes/v1_deployment_history.ts";
import { registerDeploymentPut } from "../modules/deployments/routes/v1_deployment_put.ts";
import { registerDeploymentRollback } from "../modules/deployments/routes/v1_deployment_rollback.ts";
import { registerSettingsLimitsPut } from "../modules/deployments/routes/v1_settings_limits_put.ts";
import { registerSettingsPredictGet } from "../modules/deployments/routes/v1_settings_predict_get.ts";
import { registerSettingsPredictPut } from "../modules/deployments/routes/v1_settings_predict_put.ts";
import { registerSettingsQuotaPut } from "../modules/deployments/routes/v1_settings_quota_put.ts";
import { registerAdminKeysRotate } from "../modules/identity/routes/v1_admin_keys_rotate.ts";
import { registerClientsCreate } from "../modules/identity/routes/v1_clients_create.ts";
import { registerClientsList } from "../modules/identity/routes/v1_clients_list.ts";
import { registerClientsRevoke } from "../modules/identity/routes/v1_clients_revoke.ts";
import { registerClientsRotate } from "../modules/identity/routes/v1_clients_rotate.ts";
import { registerClientsUpdate } from "../modules/identity/routes/v1_clients_update.ts";
import { registerInvitationsRedeem } from "../modules/identity/routes/v1_invitations_redeem.ts";
import { registerOauthToken } from "../modules/identity/routes/v1_oauth_token.ts";
import { registerUsersCreate } from "../modules/identity/routes/v1_users_create.ts";
import { registerUsersDelete } from "../modules/identity/routes/v1_users_delete.ts";
import { registerUsersDisable } from "../modules/identity/routes/v1_users_disable.ts";
import { registerUsersInvitationCreate } from "../modules/identity/routes/v1_users_invitation_create.ts";
import { registerUsersList } from "../modules/identity/routes/v1_users_list.ts";
import { registerOwnTokensCreate } from "../modules/identity/routes/v1_users_me_tokens_create.ts";
import { registerOwnTokensDelete } from "../modules/identity/routes/v1_users_me_tokens_delete.ts";
import { registerOwnTokensList } from "../modules/identity/routes/v1_users_me_tokens_list.ts";
import { registerUsersTokensRevoke } from "../modules/identity/routes/v1_users_tokens_revoke.ts";
import { registerUsersUpdate } from "../modules/identity/routes/v1_users_update.ts";
import { registerJwks } from "../modules/identity/routes/well_known_jwks.ts";
import { registerCustomersExport } from "../modules/monitoring/routes/v1_customers_export.ts";
import { registerErasuresCreate } from "../modules/monitoring/routes/v1_erasures_create.ts";
import { INGEST_MAX_BYTES, registerIngestEvents } from "../modules/monitoring/routes/v1_ingest_events.ts";
import { registerMonitoringSettingsGet } from "../modules/monitoring/routes/v1_monitoring_settings_get.ts";
import { registerMonitoringSnapshot } from "../modules/monitoring/routes/v1_monitoring_snapshot.ts";
import { registerMonitoringTimeseries } from "../modules/monitoring/routes/v1_monitoring_timeseries.ts";
import { registerSettingsMonitoringPut } from "../modules/monitoring/routes/v1_settings_monitoring_put.ts";
import {
  publishMaxBytes,
  registerModelVersionsCreate,
} from "../modules/registry/routes/v1_models_versions_create.ts";
import { registerModelVersionsList } from "../modules/registry/routes/v1_models_versions_list.ts";
import { registerModelVersionReport } from "../modules/registry/routes/v1_models_versions_report.ts";
import { registerModelVersionRuns } from "../modules/registry/routes/v1_models_versions_runs.ts";
import { registerCandidatesList } from "../modules/retraining/routes/v1_candidates_list.ts";
import { registerCandidatesPromote } from "../modules/retraining/routes/v1_candidates_promote.ts";
import { registerCandidatesReject } from "../modules/retraining/routes/v1_candidates_reject.ts";
import { registerRetrainingJobsClaim } from "../modules/retraining/routes/v1_retraining_jobs_claim.ts";
import { registerRetrainingJobsComplete } from "../modules/retraining/routes/v1_retraining_jobs_complete.ts";
import { registerRetrainingJobsCreate } from "../modules/retraining/routes/v1_retraining_jobs_create.ts";
import { registerRetrainingJobsFail } from "../modules/retraining/routes/v1_retraining_jobs_fail.ts";
import { registerRetrainingJobsHeartbeat } from "../modules/retraining/routes/v1_retraining_jobs_heartbeat.ts";
import { registerRetrainingJobsList } from "../modules/retraining/routes/v1_retraining_jobs_list.ts";
import { registerRetrainingProductionModel } from "../modules/retraining/routes/v1_retraining_jobs_production_model.ts";
import { registerRetrainingJobRecords } from "../modules/retraining/routes/v1_retraining_jobs_records.ts";
import { registerRetrainingPolicyGet } from "../modules/retraining/routes/v1_retraining_policy_get.ts";
import { registerRetrainingPolicyPut } from "../modules/retraining/routes/v1_retraining_policy_put.ts";
import { registerSamlMetadata } from "../modules/sso/routes/v1_saml_metadata.ts";
import { registerSettingsSamlGet } from "../modules/sso/routes/v1_settings_saml_get.ts";
import { registerSettingsSamlPut } from "../modules/sso/routes/v1_settings_saml_put.ts";
import { registerSettingsSsoGet } from "../modules/sso/routes/v1_settings_sso_get.ts";
import { registerSettingsSsoPut } from "../modules/sso/routes/v1_settings_sso_put.ts";
import { registerUsage } from "../modules/usage/routes/v1_usage.ts";
import type { Deps, HonoEnv } from "./env.ts";
import { bodyCeiling } from "./http/body-limits.ts";
import { notFound, onError } from "./middleware/errors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { ControlPlaneMetrics } from "./observability/metrics.ts";
import { registerDocsAssets } from "./routes/docs_assets.ts";
import { registerDocsPage } from "./routes/docs_page.ts";
import { registerMetrics } from "./routes/metrics.ts";
import { registerHealth } from "./routes/v1_health.ts";
import { registerReady } from "./routes/v1_ready.ts";
import { SERVICE_VERSION } from "./version.ts";

/** Builds the control-plane app. server.ts and the tests only wire dependencies into it. */
export function createApp(deps: Deps): OpenAPIHono<HonoEnv> {
  const app = new OpenAPIHono<HonoEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(issuesFromZod(result.error, result.target === "json" ? "" : result.target));
    },
  });
  app.use("*", requestContext(deps, new ControlPlaneMetrics()));
  app.use(
    "*",
    bodyCeiling([
      {
        method: "POST",
        path: /^\/v1\/models\/[^/]+\/versions$/,
        maxBytes: publishMaxBytes(deps.config.MAX_MODEL_BYTES),
      },
      { method: "POST", path: /^\/v1\/ingest\/events$/, maxBytes: INGEST_MAX_BYTES },
      { method: "POST", path: SAML_ACS_PATH, maxBytes: SAML_ACS_MAX_BYTES },
    ]),
  );
  app.onError(onError);
  app.notFound(notFound);

  registerHealth(app, SERVICE_VERSION);
  registerReady(app, SERVICE_VERSION);
  registerMetrics(app);
  registerDocsPage(app);
  registerDocsAssets(app);
  registerConsole(app);
  registerJwks(app);
  registerOauthToken(app);
  registerUsersList(app);
  registerUsersCreate(app);
  registerUsersUpdate(app);
  registerUsersDisable(app);
  registerUsersDelete(app);
  registerUsersTokensRevoke(app);
  registerUsersInvitationCreate(app);
  registerInvitationsRedeem(app);
  registerOwnTokensCreate(app);
  registerOwnTokensList(app);
  registerOwnTokensDelete(app);
  registerClientsList(app);
  registerClientsCreate(app);
  registerClientsUpdate(app);
  registerClientsRotate(app);
  registerClientsRevoke(app);
  registerSettingsLimitsPut(app);
  registerSettingsQuotaPut(app);
  registerErasuresCreate(app);
  registerCustomersExport(app);
  registerSettingsPredictGet(app);
  registerSettingsPredictPut(app);
  registerSettingsSsoGet(app);
  registerSettingsSsoPut(app);
  registerSettingsSamlGet(app);
  registerSettingsSamlPut(app);
  registerSamlMetadata(app);
  registerModelVersionsCreate(app, deps.config.MAX_MODEL_BYTES);
  registerModelVersionsList(app);
  registerModelVersionRuns(app);
  registerModelVersionReport(app);
  registerDeploymentGet(app);
  registerDeploymentPut(app);
  registerDeploymentHistory(app);
  registerDeploymentRollback(app);
  registerIngestEvents(app);
  registerMonitoringSnapshot(app);
  registerMonitoringTimeseries(app);
  registerMonitoringSettingsGet(app);
  registerUsage(app);
  registerSettingsMonitoringPut(app);
  registerAuditList(app);
  registerAuditVerify(app);
  registerAuditExport(app);
  registerAlertRulesGet(app);
  registerAlertRulesPut(app);
  registerAlertsList(app);
  registerWebhooksList(app);
  registerWebhooksCreate(app);
  registerWebhooksDelete(app);
  registerWebhookDeliveries(app);
  registerRetrainingPolicyGet(app);
  registerRetrainingPolicyPut(app);
  registerRetrainingJobsList(app);
  registerRetrainingJobsCreate(app);
  registerRetrainingJobsClaim(app);
  registerRetrainingJobsHeartbeat(app);
  registerRetrainingJobsComplete(app);
  registerRetrainingJobsFail(app);
  registerRetrainingJobRecords(app);
  registerRetrainingProductionModel(app);
  registerCandidatesList(app);
  registerCandidatesPromote(app);
  registerCandidatesReject(app);
  registerAdminKeysRotate(app, deps.config.OPERATOR_TOKEN);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An access token from /v1/oauth/token, or a personal access token (churn_pat_…)",
  });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Churn control plane", version: SERVICE_VERSION },
  });
  return app;
}
