/** "Previous" and "Next" for a list paged by the server. */
export function Pager(props: {
  readonly label: string;
  readonly pageNumber: number;
  readonly hasPrevious: boolean;
  readonly hasNext: boolean;
  readonly onPrevious: () => void;
  readonly onNext: () => void;
  readonly busy?: boolean;
}) {
  return (
    <nav className="pager" aria-label={`${props.label} pages`}>
      <button type="button" className="secondary" disabled={!props.hasPrevious} onClick={props.onPrevious}>
        Previous
      </button>
      <span aria-live="polite">
        Page {props.pageNumber}
        {props.busy ? ' (loading…)' : ''}
      </span>
      <button type="button" className="secondary" disabled={!props.hasNext} onClick={props.onNext}>
        Next
      </button>
    </nav>
  );
}
