/**
 * `/submit`: paste or upload a gorch document, see its graph before sending it, submit it.
 * The server's error (message and path) is shown next to the field; a 202 opens the run.
 */
import { useDeferredValue, useId, useMemo, useRef, useState } from 'react';
import { ApiError, submitRun } from '../api.ts';
import { GraphCanvas } from '../components/GraphCanvas.tsx';
import { EXAMPLE_DOCUMENT, previewDocument } from '../graph/preview.ts';
import { useDocumentTitle } from '../hooks.ts';
import { navigate } from '../router.ts';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const nothingRan = { states: new Uint8Array(0), attempts: new Uint16Array(0) };

export function Submit() {
  useDocumentTitle('Submit');
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const ids = { field: useId(), help: useId(), error: useId(), file: useId(), preview: useId() };

  const deferred = useDeferredValue(text);
  const preview = useMemo(() => previewDocument(deferred), [deferred]);
  const live = useMemo(
    () =>
      preview.ok
        ? { states: new Uint8Array(preview.graph.n), attempts: new Uint16Array(preview.graph.n) }
        : nothingRan,
    [preview],
  );

  const edit = (value: string) => {
    setText(value);
    setServerError(null);
  };

  const load = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    edit(await file.text());
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setSending(true);
    setServerError(null);
    try {
      const { id } = await submitRun(text);
      navigate(`/runs/${encodeURIComponent(id)}`);
    } catch (err) {
      setServerError(
        err instanceof ApiError ? err : new ApiError(0, { code: 0, message: String(err) }),
      );
      setSending(false);
    }
  };

  const localProblem = !preview.ok && text.trim() !== '' ? preview : null;

  return (
    <section className="page submit" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" tabIndex={-1}>
          Submit a document
        </h1>
      </div>
      <form className="submit-form" onSubmit={submit} noValidate>
        <div className="submit-input">
          <label htmlFor={ids.field}>gorch document (JSON)</label>
          <p id={ids.help} className="muted small">
            An object with <code>nodes</code> and either an N×N <code>digraph</code> or{' '}
            <code>edges</code> as <code>[from, to]</code> pairs. Drop a file here, or{' '}
            <button type="button" className="link" onClick={() => fileInput.current?.click()}>
              choose a file
            </button>
            {fileName ? ` (${fileName})` : ''}, or{' '}
            <button type="button" className="link" onClick={() => edit(EXAMPLE_DOCUMENT)}>
              start from an example
            </button>
            .
          </p>
          <input
            ref={fileInput}
            id={ids.file}
            type="file"
            accept=".json,application/json"
            className="visually-hidden"
            aria-label="Upload a gorch document"
            tabIndex={-1}
            onChange={(e) => void load(e.target.files?.[0])}
          />
          <textarea
            id={ids.field}
            name="document"
            value={text}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            rows={20}
            aria-describedby={`${ids.help} ${ids.error}`}
            aria-invalid={serverError !== null}
            onChange={(e) => edit(e.target.value)}
            onDragOver={(e) => e.preventDefault()}
            onDrop={(e) => {
              const file = e.dataTransfer.files[0];
              if (file) {
                e.preventDefault();
                void load(file);
              }
            }}
          />
          <div id={ids.error} className="field-error" aria-live="polite">
            {serverError ? (
              <p className="notice error" role="alert" data-testid="server-error">
                <strong>Rejected{serverError.status ? ` (${serverError.status})` : ''}:</strong>{' '}
                <span className="error-message">{serverError.message}</span>
                {serverError.path !== undefined && serverError.path !== '' ? (
                  <span className="error-where">
                    Field: <code className="error-path">{serverError.path}</code>
                  </span>
                ) : null}
              </p>
            ) : localProblem ? (
              <p className="notice warn">
                Cannot preview: {localProblem.message}
                {localProblem.path ? (
                  <>
                    {' '}
                    at <code>{localProblem.path}</code>
                  </>
                ) : null}
              </p>
            ) : null}
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={sending || text.trim() === ''}>
              {sending ? 'Submitting…' : 'Submit'}
            </button>
          </div>
        </div>
        <section className="submit-preview" aria-labelledby={ids.preview}>
          <h2 id={ids.preview}>
            Preview
            {preview.ok ? (
              <span className="muted small">
                {' '}
                {preview.name ? `${preview.name}: ` : ''}
                {plural(preview.graph.n, 'node')}, {plural(preview.graph.edges.length / 2, 'edge')}
              </span>
            ) : null}
          </h2>
          {preview.ok && preview.graph.n > 0 ? (
            <GraphCanvas
              graph={preview.graph}
              labels={preview.labels}
              live={live}
              label="Preview of the document's graph"
            />
          ) : (
            <p className="empty">The graph appears here as you type.</p>
          )}
        </section>
      </form>
    </section>
  );
}
