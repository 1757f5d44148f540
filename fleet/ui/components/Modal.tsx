// A modal dialog on the native <dialog> element: focus trap, Escape and the
// backdrop come from the browser.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useI18n } from '../i18n/i18n.js';

export function Modal(props: { title: string; onClose(): void; children: ComponentChildren }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} class="modal" onClose={props.onClose} onCancel={props.onClose} aria-label={props.title}>
      <header class="modal-head">
        <h2>{props.title}</h2>
        <button type="button" class="icon-btn" aria-label={t('common.close')} onClick={props.onClose}>
          ✕
        </button>
      </header>
      <div class="modal-body">{props.children}</div>
    </dialog>
  );
}
