import { useState } from 'react';

/**
 * A form's values, and `bind(name)` giving a field its name, value and onChange:
 * `<Field {...bind('email')} />`. `reset()` empties the form again.
 */
export default function useFields(initial) {
  const [values, setValues] = useState(initial);
  const bind = (name) => ({
    name,
    value: values[name],
    onChange: (event) => setValues((current) => ({ ...current, [name]: event.target.value })),
  });
  return { values, bind, setValues, reset: () => setValues(initial) };
}
