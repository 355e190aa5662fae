import { Worker } from 'node:worker_threads';

/** The most of .dockyard.yml Dockyard reads: real pipeline files are a few kilobytes. */
export const PIPELINE_FILE_MAX_BYTES = 32 * 1024;
/** How deep `[` and `{` may nest: the parser recurses once per level. */
export const PIPELINE_FILE_MAX_DEPTH = 64;
/** How long parsing one file may take, off the event loop, before its build fails. */
export const PIPELINE_PARSE_TIMEOUT_MS = 5_000;

/** What a YAML parse in the worker gives back: the data, or the errors with their lines, and each node's line. */
export interface ParsedYaml {
  errors: { line: number; message: string }[];
  data: unknown;
  /** "test.0.name" → line, for every node: to say which line a schema problem stands on. */
  lines: Record<string, number>;
}

// Plain JavaScript, so that it runs in a worker thread both from dist/ and under Jest. The nesting is
// measured with yaml's lexer (a loop, which knows quotes, comments and block scalars) before the
// parser (which recurses) sees the text.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { CST, Lexer, LineCounter, parseDocument, isMap, isSeq, isScalar } = require(workerData.yaml);
const { maxDepth } = workerData;
function parse(text) {
  const lineOf = (offset) => text.slice(0, offset).split('\\n').length;
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === 'flow-map-start' || type === 'flow-seq-start') depth++;
    else if (type === 'flow-map-end' || type === 'flow-seq-end') depth--;
    if (depth > maxDepth) {
      const message = 'brackets nested more than ' + maxDepth + ' deep';
      return { errors: [{ line: lineOf(offset), message }], data: null, lines: {} };
    }
    offset += token.length;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const line = (node) => (node && node.range ? lineCounter.linePos(node.range[0]).line : 1);
  if (doc.errors.length) {
    return {
      errors: doc.errors.map((e) => ({ line: lineCounter.linePos(e.pos[0]).line, message: e.message.split('\\n')[0] })),
      data: null,
      lines: {},
    };
  }
  const lines = {};
  const walk = (node, path) => {
    lines[path] = line(node);
    const prefix = path ? path + '.' : '';
    if (isMap(node)) {
      for (const pair of node.items) if (isScalar(pair.key)) walk(pair.value || pair.key, prefix + String(pair.key.value));
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, prefix + i));
  };
  walk(doc.contents, '');
  return { errors: [], data: doc.toJS({ maxAliasCount: 100 }) ?? null, lines };
}
parentPort.on('message', (text) => parentPort.postMessage(parse(text)));
`;

/** Parsers waiting for the next file: starting a worker thread costs far more than parsing a pipeline file. */
const idle = new Set<Worker>();
const MAX_IDLE = 2;

function startParser(): Worker {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { maxDepth: PIPELINE_FILE_MAX_DEPTH, yaml: require.resolve('yaml') },
    resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
  });
  // An idle parser never keeps the process alive.
  worker.unref();
  return worker;
}

/**
 * Parse YAML in a worker thread with a depth cap, a deadline and a memory cap: a hostile file costs
 * its own build a few seconds at most and never blocks or crashes the process. Each file has a
 * parser to itself; one that answered goes back to the idle set, one that failed or ran out of time
 * is terminated.
 */
export function parseYamlOffThread(text: string, timeoutMs = PIPELINE_PARSE_TIMEOUT_MS): Promise<ParsedYaml> {
  return new Promise((resolve, reject) => {
    const reused = idle.values().next();
    const worker = reused.done ? startParser() : reused.value;
    idle.delete(worker);
    worker.removeAllListeners();
    const settle = (fn: () => void, healthy: boolean) => {
      clearTimeout(timer);
      worker.removeAllListeners();
      if (healthy && idle.size < MAX_IDLE) {
        idle.add(worker);
        worker.once('error', () => idle.delete(worker));
        worker.once('exit', () => idle.delete(worker));
      } else {
        worker.on('error', () => undefined);
        void worker.terminate();
      }
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`parsing took longer than ${timeoutMs / 1000} s`)), false),
      timeoutMs,
    );
    worker.once('message', (result: ParsedYaml) => settle(() => resolve(result), true));
    worker.once('error', (err) => settle(() => reject(new Error(`the parser failed: ${err.message}`)), false));
    worker.once('exit', (code) => settle(() => reject(new Error(`the parser stopped (exit code ${code})`)), false));
    worker.postMessage(text);
  });
}
