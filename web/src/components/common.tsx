/** Small shared pieces: internal links, state badges, the legend, error notices. */
import type { AnchorHTMLAttributes, ReactNode } from 'react';
import { followLink } from '../router.ts';
import { nameOf, STATE_HELP, STATE_NAMES, State, type StateName, swatchOf } from '../states.ts';

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      href={href}
      onClick={(event) => {
        onClick?.(event);
        followLink(event, href);
      }}
      {...rest}
    />
  );
}

export function StateBadge({ state }: { state: number | StateName }) {
  const name = typeof state === 'number' ? nameOf(state) : state;
  const { background, color } = swatchOf(name);
  return (
    <span
      className={`badge state-${name}`}
      data-state={name}
      style={{ background, color }}
      title={name === 'unknown' ? undefined : STATE_HELP[name]}
    >
      {name}
    </span>
  );
}

/** Every state with its colour and meaning, with counts when given. */
export function Legend({ counts }: { counts?: ReadonlyMap<number, number> }) {
  return (
    <ul className="legend" aria-label="State colours">
      {STATE_NAMES.map((name) => {
        const { background, color } = swatchOf(name);
        const count = counts?.get(State[name]);
        return (
          <li key={name} title={STATE_HELP[name]}>
            <span
              className={`swatch state-${name}`}
              style={{ background, color }}
              aria-hidden="true"
            />
            <span>{name}</span>
            {count !== undefined && count > 0 ? <span className="count">{count}</span> : null}
          </li>
        );
      })}
    </ul>
  );
}

export function ErrorNotice({ error, children }: { error: unknown; children?: ReactNode }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p className="notice error" role="alert">
      {children}
      {message}
    </p>
  );
}

export function Pager(props: {
  label: string;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious(): void;
  onNext(): void;
  status?: ReactNode;
}) {
  return (
    <nav className="pager" aria-label={props.label}>
      <button type="button" disabled={!props.hasPrevious} onClick={props.onPrevious}>
        ← Previous
      </button>
      {props.status ? <span className="pager-status">{props.status}</span> : null}
      <button type="button" disabled={!props.hasNext} onClick={props.onNext}>
        Next →
      </button>
    </nav>
  );
}

/** Previous/next over numbered pages `0..pages-1`, with "page N of M"; nothing for one page. */
export function PagePager(props: {
  label: string;
  current: number;
  pages: number;
  onPage(page: number): void;
}) {
  const { current, pages, onPage } = props;
  if (pages <= 1) return null;
  return (
    <Pager
      label={props.label}
      hasPrevious={current > 0}
      hasNext={current < pages - 1}
      onPrevious={() => onPage(current - 1)}
      onNext={() => onPage(current + 1)}
      status={`page ${current + 1} of ${pages}`}
    />
  );
}
