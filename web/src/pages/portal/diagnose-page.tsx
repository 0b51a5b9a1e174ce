import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { DiagnoseReport, DiagnoseRequestBody } from '../../api/admin-types.js';
import { callApi } from '../../api/client.js';
import { ErrorNotice } from '../../components/error-notice.js';
import { CodeLink, StateBadge, When } from './admin-kit/format.js';
import './admin-kit/admin.css';

/*
 * Diagnose and solve problems: a form (user, correlation ID, error code, since) posted to
 * `POST /rekey/v1/diagnose`, and the report in the order an administrator acts on it: the verdict
 * (root-cause code, its name, a link to its page), the evidence of each check, then the fix. The
 * form reads ?userPrincipalName=&correlationId=&errorCode=&since= so other pages link to a
 * diagnosis, and runs it at once when they do.
 */

interface Form {
  readonly userPrincipalName: string;
  readonly correlationId: string;
  readonly errorCode: string;
  readonly since: string;
}

const fieldNames = ['userPrincipalName', 'correlationId', 'errorCode', 'since'] as const;

function bodyOf(form: Form): DiagnoseRequestBody {
  const body: { -readonly [K in keyof DiagnoseRequestBody]: DiagnoseRequestBody[K] } = {};
  if (form.userPrincipalName.trim()) body.userPrincipalName = form.userPrincipalName.trim();
  if (form.correlationId.trim()) body.correlationId = form.correlationId.trim();
  // Not a number goes as typed: the server names the problem with its code.
  if (form.errorCode.trim())
    body.errorCode = (
      Number.isNaN(Number(form.errorCode)) ? form.errorCode.trim() : Number(form.errorCode)
    ) as number;
  if (form.since.trim()) body.since = form.since.trim();
  return body;
}

function Verdict({ report }: { readonly report: DiagnoseReport }) {
  const { verdict } = report;
  const found = verdict.code !== null;
  return (
    <section
      className={`verdict${found ? '' : ' ok'}`}
      aria-labelledby="verdict-heading"
      data-testid="verdict"
    >
      <h2 id="verdict-heading">
        {found ? (
          <>
            Root cause: <span data-testid="verdict-code">{verdict.code}</span> {verdict.name}
          </>
        ) : (
          'No failure found'
        )}
      </h2>
      <p>{verdict.summary}</p>
      <p className="hint">
        Confidence {verdict.confidence}
        {verdict.symptomCode !== null && verdict.symptomCode !== verdict.code && (
          <>
            {' '}
            · callers were answered <CodeLink code={verdict.symptomCode} />
          </>
        )}
      </p>
      {found && (
        <p>
          <a href={`/error?code=${verdict.code}`} target="_blank" rel="noreferrer">
            What {verdict.code} means and what to do
          </a>
        </p>
      )}
    </section>
  );
}

/** What the report answers, as the server read it: a stale report is never mistaken for a new one. */
function selectorsText(selectors: DiagnoseReport['selectors']): string {
  const parts: string[] = [];
  if (selectors.userPrincipalName !== null) parts.push(`user ${selectors.userPrincipalName}`);
  if (selectors.correlationId !== null) parts.push(`correlation ID ${selectors.correlationId}`);
  if (selectors.errorCode !== null) parts.push(`error code ${selectors.errorCode}`);
  return `Diagnosed: ${parts.join(', ')}, since ${selectors.since}`;
}

function Report({ report }: { readonly report: DiagnoseReport }) {
  const relevant = report.findings.filter((finding) => finding.status !== 'skipped');
  const fixes = report.findings.filter(
    (f) => (f.status === 'fail' || f.status === 'warn') && f.remediation.length > 0,
  );
  // Several checks may point at the same cause and give the same step: each step once, in order.
  const steps = [...new Set(fixes.flatMap((finding) => finding.remediation))];
  return (
    <div data-testid="diagnose-report">
      <p className="hint" data-testid="diagnosed-selectors">
        {selectorsText(report.selectors)}
      </p>
      <Verdict report={report} />
      <p>
        Scope: {report.scope.usersAffected} user(s), {report.scope.requests} request(s)
        {report.scope.firstSeen && (
          <>
            , from <When at={report.scope.firstSeen} /> to <When at={report.scope.lastSeen} />
          </>
        )}
        .
      </p>
      <h2>Evidence</h2>
      {relevant.map((finding) => (
        <article className="finding" key={finding.check} aria-labelledby={`finding-${finding.check}`}>
          <h3 id={`finding-${finding.check}`}>
            <StateBadge value={finding.status} /> {finding.title}{' '}
            {finding.code !== null && <CodeLink code={finding.code} />}
          </h3>
          {finding.evidence.length > 0 && (
            <ul>
              {finding.evidence.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          )}
        </article>
      ))}
      <h2>The fix</h2>
      {steps.length === 0 ? (
        <p>Nothing to fix was found.</p>
      ) : (
        <ol className="steps" data-testid="fix">
          {steps.map((step) => (
            <li key={step}>{step}</li>
          ))}
        </ol>
      )}
      {report.timeline.length > 0 && (
        <>
          <h2>Timeline</h2>
          <ol className="timeline">
            {report.timeline.map((entry) => (
              <li
                key={`${entry.at}-${entry.source}-${entry.summary}`}
                className={entry.code ? 'fail' : undefined}
              >
                <When at={entry.at} /> · {entry.source} · {entry.summary}{' '}
                {entry.code ? <CodeLink code={entry.code} /> : null}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

export function Page() {
  const [params, setParams] = useSearchParams();
  const fromAddress = Object.fromEntries(
    fieldNames.map((name) => [name, params.get(name) ?? '']),
  ) as unknown as Form;
  const [form, setForm] = useState<Form>(fromAddress);
  const diagnose = useMutation({
    mutationFn: async (body: DiagnoseRequestBody) =>
      (await callApi<DiagnoseReport>('POST', '/rekey/v1/diagnose', body)).body,
  });
  const addressKey = params.toString();
  // A link with selectors runs the diagnosis at once.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once per address, not per keystroke
  useEffect(() => {
    const body = bodyOf(fromAddress);
    if (Object.keys(body).some((key) => key !== 'since')) {
      setForm(fromAddress);
      diagnose.mutate(body);
    }
  }, [addressKey]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of fieldNames) if (form[name].trim()) next.set(name, form[name].trim());
    const body = bodyOf(form);
    const hasSelector = Object.keys(body).some((key) => key !== 'since');
    // A new address with a selector runs through the effect; otherwise ask now (without a
    // selector, for the server's own answer naming what is missing).
    if (!hasSelector || next.toString() === addressKey) diagnose.mutate(body);
    if (next.toString() !== addressKey) setParams(next);
  };
  const field = (name: keyof Form, label: string, hint: string) => (
    <div className="field">
      <label htmlFor={`d-${name}`}>{label}</label>
      <input
        id={`d-${name}`}
        value={form[name]}
        aria-describedby={`d-${name}-hint`}
        onChange={(event) => setForm({ ...form, [name]: event.target.value })}
      />
      <small className="hint" id={`d-${name}-hint`}>
        {hint}
      </small>
    </div>
  );
  return (
    <section>
      <h1>Diagnose and solve problems</h1>
      <p className="lead">
        Name a user, a request's correlation ID or an error code: Rekey runs its checks in order and names the
        root cause, the evidence and the fix.
      </p>
      <form className="filters" onSubmit={submit} aria-label="What to diagnose">
        {field('userPrincipalName', 'User', 'user principal name')}
        {field('correlationId', 'Correlation ID', 'of the failed request')}
        {field('errorCode', 'Error code', 'the code callers saw, across users')}
        {field('since', 'Since', '24h, 7d or a date-time; 24 hours unless given')}
        <button type="submit" className="primary" disabled={diagnose.isPending}>
          {diagnose.isPending ? 'Diagnosing…' : 'Diagnose'}
        </button>
      </form>
      {diagnose.error ? <ErrorNotice error={diagnose.error} /> : null}
      {diagnose.data && <Report report={diagnose.data} />}
    </section>
  );
}
