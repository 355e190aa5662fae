/** HTML with every interpolated value escaped, unless it is already Html. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escape(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(escape).join('');
  if (value === null || value === undefined || value === false) return '';
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? escape(values[i]) : ''), ''));
}

export function ago(date: Date | null | undefined, now = new Date()): string {
  if (!date) return '';
  const s = Math.max(0, Math.round((now.getTime() - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export const short = (digest: string | null | undefined) => (digest ? digest.slice(7, 19) : '—');

export const DASHBOARD_STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#14213d;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto}
main{padding:1.2rem;max-width:1200px;margin:auto}
.stages{display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:1rem}
.stage{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1rem}
.stage h2{margin:0 0 .5rem;font-size:1.1rem;text-transform:uppercase;letter-spacing:.05em}
code{font:13px ui-monospace,monospace;background:#eef1f4;padding:0 .25rem;border-radius:4px}
.muted{color:#57606a}.hosts{padding-left:1rem}.host-in_sync .state{color:#1a7f37}.host-drifted .state{color:#9a6700}.host-down .state{color:#cf222e}.waiting{border-top:1px dashed #d0d7de;margin-top:.7rem;padding-top:.7rem}
button{font:inherit;padding:.3rem .7rem;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1f6feb}button[disabled]{background:#d0d7de;border-color:#d0d7de;color:#57606a;cursor:not-allowed}
.why{font-size:.85rem;color:#9a6700;margin:.2rem 0}
.flash{padding:.6rem 1rem;border-radius:6px;margin-bottom:1rem;background:#dafbe1}.flash.error{background:#ffebe9}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left}
pre{background:#0d1117;color:#e6edf3;padding:1rem;border-radius:8px;max-height:60vh;overflow:auto;white-space:pre-wrap}
form.inline{display:inline}label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}
.dora-keys{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:.5rem;margin:0}.dora-keys dd{margin:0;font-size:1.3rem;font-weight:600}.dora-keys dt{color:#57606a;font-size:.85rem}
.status-passed,.status-promoted{color:#1a7f37}.status-failed,.status-blocked,.status-rejected,.status-error{color:#cf222e}`;

/** The build page's live log: follows the build's log stream (its id is on #log) until the build ends. */
export const LOG_SCRIPT = `
const log = document.getElementById('log');
const es = new EventSource('/api/v1/builds/' + log.dataset.build + '/logs?follow=1');
es.addEventListener('log', (e) => {
  log.textContent += JSON.parse(e.data).text;
  log.scrollTop = log.scrollHeight;
});
es.addEventListener('end', (e) => {
  document.getElementById('status').textContent = JSON.parse(e.data).status;
  es.close();
});`;

/** Every inline script the dashboard sends: its Content-Security-Policy allows these (by hash) and nothing else. */
export const DASHBOARD_SCRIPTS = [LOG_SCRIPT] as const;

export const script = (code: (typeof DASHBOARD_SCRIPTS)[number]) => new Html(`<script>${code}</script>`);

export function layout(
  title: string,
  body: Html,
  who?: { login: string; role: string } | null,
  flash?: { msg?: string; error?: string },
): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${title} · Dockyard</title>
        ${new Html(`<style>${DASHBOARD_STYLE}</style>`)}
      </head>
      <body>
        <header>
          <a href="/"><strong>Dockyard</strong></a
          >${
            who
              ? html`<a href="/">Projects</a><a href="/waiting">Waiting for me</a
                  ><a href="/audit">Audit</a>${who.role === 'admin' ? html`<a href="/admin/queues">Queues</a>` : ''}
                  <span class="who">${who.login} (${who.role})</span>
                  <form class="inline" method="post" action="/logout"><button class="secondary">Log out</button></form>`
              : ''
          }
        </header>
        <main>
          ${flash?.msg ? html`<p class="flash" role="status">${flash.msg}</p>` : ''}${flash?.error ? html`<p class="flash error" role="alert">${flash.error}</p>` : ''}
          ${body}
        </main>
      </body>
    </html>`.value;
}
