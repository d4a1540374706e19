/**
 * The largest JSON body an administrative route (users, tokens, clients, settings, deployments) accepts.
 * Their bodies are a few hundred bytes; the cap keeps a client from making the server buffer megabytes.
 */
export const ADMIN_JSON_MAX_BYTES = 64 * 1024;
