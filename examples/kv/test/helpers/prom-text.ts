/**
 * A strict parser of Prometheus' text exposition format (version 0.0.4), for tests: every
 * line must be a `# HELP`, a `# TYPE` or a sample of a declared family; label values must be
 * quoted and escaped; values must be numbers; a histogram's buckets must be cumulative and
 * end with `+Inf` equal to its `_count`. Throws on the first violation, naming the line.
 */

/** One sample. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its type, help and samples. */
export interface Family {
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseValue(s: string, line: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)} in line ${JSON.stringify(line)}`);
  return Number(s);
}

function parseLabels(s: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf("=", i);
    if (eq < 0) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const key = s.slice(i, eq);
    if (!NAME.test(key) || s[eq + 1] !== '"') throw new Error(`bad label ${JSON.stringify(key)} in ${JSON.stringify(line)}`);
    let j = eq + 2;
    let v = "";
    for (; j < s.length && s[j] !== '"'; j++) {
      if (s[j] === "\\") {
        const n = s[++j];
        v += n === "n" ? "\n" : n;
      } else v += s[j];
    }
    if (s[j] !== '"') throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
    out[key] = v;
    i = j + 1;
    if (s[i] === ",") i++;
  }
  return out;
}

/** The families of `text` by name. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ["", "_bucket", "_sum", "_count"]) {
      if (suffix !== "" && !sample.endsWith(suffix)) continue;
      const f = families.get(sample.slice(0, sample.length - suffix.length));
      if (f !== undefined && (suffix === "" || f.type === "histogram" || f.type === "summary")) return f;
    }
    return undefined;
  };
  if (!text.endsWith("\n")) throw new Error("the text must end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line)) !== null) {
      const name = m[1]!;
      if (!NAME.test(name)) throw new Error(`bad name in ${line}`);
      const f = families.get(name) ?? { type: "untyped", help: "", samples: [] };
      f.help = m[2]!;
      families.set(name, f);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)) !== null) {
      const f = families.get(m[1]!) ?? { type: "untyped", help: "", samples: [] };
      if (f.samples.length > 0) throw new Error(`TYPE after samples: ${line}`);
      f.type = m[2] as Family["type"];
      families.set(m[1]!, f);
    } else if (line.startsWith("#")) {
      // a comment: nothing to read
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line)) !== null) {
      const f = familyOf(m[1]!);
      if (f === undefined) throw new Error(`sample of an undeclared family: ${line}`);
      f.samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? "", line), value: parseValue(m[3]!, line) });
    } else throw new Error(`not a line of the text format: ${JSON.stringify(line)}`);
  }
  for (const [name, f] of families) if (f.type === "histogram") checkHistogram(name, f);
  return families;
}

function checkHistogram(name: string, f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const e = series.get(key) ?? { buckets: [] };
    series.set(key, e);
    if (s.name === `${name}_bucket`) {
      if (le === undefined) throw new Error(`${name}: a bucket without le`);
      e.buckets.push([parseValue(le, le), s.value]);
    } else if (s.name === `${name}_count`) e.count = s.value;
  }
  for (const [key, e] of series) {
    const last = e.buckets[e.buckets.length - 1];
    if (last === undefined || last[0] !== Infinity) throw new Error(`${name}${key}: no +Inf bucket`);
    for (let i = 1; i < e.buckets.length; i++) {
      if (e.buckets[i]![0] <= e.buckets[i - 1]![0] || e.buckets[i]![1] < e.buckets[i - 1]![1]) throw new Error(`${name}${key}: buckets not cumulative`);
    }
    if (e.count !== last[1]) throw new Error(`${name}${key}: _count ${e.count} != +Inf bucket ${last[1]}`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sampleValue(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of fams.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
