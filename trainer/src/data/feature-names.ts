import { graphInputNameSchema, RESERVED_RECORD_KEYS } from "#shared/manifest.ts";

export interface HeaderRename {
  column: number;
  from: string;
  to: string;
  reason: string;
}

/**
 * Column names exactly as the header writes them, made usable: a blank name becomes `Column N`, a repeated
 * one gets pandas' `.1`, `.2` suffixes, and a name JSON records cannot carry as a plain key (`__proto__`,
 * `customerId`, which names the customer at the edge) gets a `.1` too. Every change is reported.
 */
export function usableHeader(raw: readonly string[]): { names: string[]; renamed: HeaderRename[] } {
  const renamed: HeaderRename[] = [];
  const taken = new Set<string>();
  const names = raw.map((name, i) => {
    let reason: string | undefined;
    let base = name;
    if (name.trim() === "") {
      base = `Column ${i + 1}`;
      reason = "blank header";
    } else if (/\p{Cc}/u.test(name)) {
      base = name.replace(/\p{Cc}+/gu, " ");
      reason = "control characters in the header";
    }
    let unique = base;
    if (taken.has(unique) || raw.indexOf(unique) < i || RESERVED_RECORD_KEYS.has(unique)) {
      reason ??= RESERVED_RECORD_KEYS.has(unique) ? "reserved in prediction records" : "repeated header";
      for (let k = 1; taken.has(unique) || raw.includes(unique) || RESERVED_RECORD_KEYS.has(unique); k++) {
        unique = `${base}.${k}`;
      }
    }
    taken.add(unique);
    if (reason) renamed.push({ column: i + 1, from: name, to: unique, reason });
    return unique;
  });
  return { names, renamed };
}

/**
 * Where a column someone named sits (on the command line, or a model's feature in a file to score): the
 * header exactly as written, else the one equal after trimming whitespace on both sides; -1 when absent.
 */
export function headerIndex(names: readonly string[], wanted: string): number {
  const exact = names.indexOf(wanted);
  if (exact >= 0) return exact;
  const trimmed = wanted.trim();
  return names.findIndex((n) => n.trim() === trimmed);
}

const SAFE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_INPUT = 64;

/**
 * ONNX input names for features named anything: a name that is already a plain identifier keeps itself
 * (so graphs of such files are unchanged); others become an ASCII slug (accents folded, other runs to `_`),
 * made unique with a numeric suffix. API clients never see these: they send the feature names.
 */
export function graphInputNames(names: readonly string[]): string[] {
  const plain = new Set(names.filter((n) => SAFE.test(n) && n.length <= MAX_INPUT));
  const taken = new Set<string>();
  return names.map((name) => {
    if (plain.has(name) && !taken.has(name)) {
      taken.add(name);
      return name;
    }
    let slug = name
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .replace(/[^A-Za-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, MAX_INPUT - 8);
    if (slug === "" || /^[0-9]/.test(slug)) slug = `f_${slug}`.replace(/_+$/, "");
    let input = slug;
    for (let k = 2; taken.has(input) || (plain.has(input) && input !== name); k++) input = `${slug}_${k}`;
    taken.add(input);
    graphInputNameSchema.parse(input);
    return input;
  });
}
