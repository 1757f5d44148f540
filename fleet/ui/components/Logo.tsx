// The mark: a star over a bridge ("cầu"), in the province's red and gold.
export function Logo(props: { size?: number }) {
  const s = props.size ?? 28;
  return (
    <svg class="logo" width={s} height={s} viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="#c8102e" />
      <path d="M16 5.5l2.2 6.3h6.6l-5.4 3.9 2.1 6.3L16 18.2l-5.5 3.8 2.1-6.3-5.4-3.9h6.6z" fill="#ffd54a" />
      <path
        d="M5 27c3.5-4 7.2-6 11-6s7.5 2 11 6"
        stroke="#ffd54a"
        stroke-width="2"
        fill="none"
        stroke-linecap="round"
      />
    </svg>
  );
}
