import { useId } from 'react';

/** A small select with its label beside it, as the top bars use. */
export default function InlineSelect({ label, value, onChange, options }) {
  const id = useId();
  return (
    <div className="d-flex align-items-center gap-2">
      <label htmlFor={id} className="small">
        {label}
      </label>
      <select
        id={id}
        className="form-select form-select-sm w-auto"
        value={value}
        onChange={(event) => onChange(event.target.value)}
      >
        {options.map(({ value: option, label: text, lang }) => (
          <option key={option} value={option} lang={lang}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
