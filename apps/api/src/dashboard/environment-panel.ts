import type { StageEnvironmentView } from '@dockyard/operations';
import { Html, html, short } from './html';

/** A stage column's environment: its URL, hosts with their state, what runs there, the deploy in progress. */
export function environmentPanel(view: StageEnvironmentView | undefined): Html | string {
  const env = view?.environment;
  if (!view || !env) return '';
  const running = [...new Set(env.hosts.map((h) => h.runningDigest).filter((d): d is string => !!d))];
  return html`<div class="environment" aria-label="environment ${view.stage}">
    ${env.url ? html`<p><a class="env-url" href="${env.url}">${env.url}</a></p>` : ''}
    <ul class="hosts">
      ${env.hosts.map(
        (h) =>
          html`<li class="host host-${h.state}" data-host="${h.name}">
            ${h.name}: <strong class="state">${h.state.replace('_', ' ')}</strong>${
              h.detail ? html` <span class="muted">${h.detail}</span>` : ''
            }
          </li>`,
      )}
    </ul>
    ${
      running.length ? html`<p>Running <code class="running">${running.map((d) => short(d)).join(', ')}</code></p>` : ''
    }
    ${
      env.deploying
        ? html`<p class="deploying">
            Deploying <code>${short(env.deploying.digest)}</code> (${env.deploying.status}):
            <a href="/api/v1/deploys/${env.deploying.id}/logs?follow=1">live log</a>
          </p>`
        : ''
    }
  </div>`;
}

/** The sign-off of what a stage holds: who said what, and the buttons to say it ("tested: passes" / "fails"). */
export function signOffPanel(
  project: string,
  stage: string,
  digest: string | undefined,
  said: { by: string; result: string; comment: string | null }[],
  mayTest: boolean,
): Html | string {
  if (!digest) return '';
  return html`<div class="signoff" aria-label="sign-off ${stage}">
    ${said.map(
      (o) =>
        html`<p class="signed signed-${o.result}">
          Tested: <strong>${o.result}</strong> by
          ${o.by}${o.comment ? html` <span class="muted">${o.comment}</span>` : ''}
        </p>`,
    )}
    ${
      mayTest
        ? html`<form method="post" action="/dashboard/projects/${project}/stages/${stage}/signoff">
            <input type="hidden" name="digest" value="${digest}" />
            <input name="comment" aria-label="Sign-off comment for ${stage}" placeholder="what you tested" />
            <button name="result" value="passes">Tested: passes</button>
            <button class="secondary" name="result" value="fails">Fails</button>
          </form>`
        : ''
    }
  </div>`;
}
