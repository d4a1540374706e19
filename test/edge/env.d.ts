declare namespace Cloudflare {
  interface Env {
    EDGE_KV: KVNamespace;
    EVENTS: Queue;
    TOKEN_ISSUER: string;
    TOKEN_AUDIENCE: string;
    TEST_MODEL_B64: string;
    TEST_MANIFEST: string;
    TEST_TREE_MODEL_B64: string;
    TEST_TREE_MANIFEST: string;
    TEST_TREE_EXPLAINER: string;
    TEST_MLP_MODEL_B64: string;
    TEST_MLP_MANIFEST: string;
    TEST_MLP_EXPLAINER: string;
    FUZZ_RUNS: string;
    FUZZ_SEED: string;
  }
}
