import { el } from "./dom.js";
import { EVENT_TYPE_GROUPS } from "./event-types.js";
import { FILTER_KEYS, type FilterKey, type Filters } from "./url-state.js";

/** The filter form of the page shell: shows a view's filters and reports the ones a person applies. */
export interface FilterForm {
  fill(filters: Filters): void;
}

export function bindFilterForm(form: HTMLFormElement, apply: (filters: Filters) => void): FilterForm {
  const field = (name: FilterKey) => {
    const control = form.elements.namedItem(name);
    if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement)) {
      throw new Error(`the filter form has no ${name} field`);
    }
    return control;
  };
  const group = field("group") as HTMLSelectElement;
  const type = field("event_type") as HTMLSelectElement;
  group.append(...Object.keys(EVENT_TYPE_GROUPS).map((name) => el("option", { value: name }, name)));
  const fillTypes = (chosen: string) => {
    const types = group.value === "" ? Object.values(EVENT_TYPE_GROUPS).flat() : (EVENT_TYPE_GROUPS[group.value] ?? []);
    type.replaceChildren(
      el("option", { value: "" }, "all"),
      ...types.map((name) => el("option", { value: name }, name)),
    );
    type.value = types.includes(chosen) ? chosen : "";
  };
  const read = (): Filters => {
    const filters = {} as Record<FilterKey, string>;
    for (const key of FILTER_KEYS) filters[key] = field(key).value.trim();
    return filters;
  };

  form.addEventListener("submit", (submit) => {
    submit.preventDefault(); // form-action 'none': the page never submits, it navigates itself
    apply(read());
  });
  group.addEventListener("change", () => {
    fillTypes(type.value);
    apply(read());
  });
  type.addEventListener("change", () => apply(read()));
  form.addEventListener("reset", (reset) => {
    reset.preventDefault();
    apply(Object.fromEntries(FILTER_KEYS.map((key) => [key, ""])) as Filters);
  });

  fillTypes("");
  return {
    fill(filters) {
      for (const key of FILTER_KEYS) if (key !== "event_type") field(key).value = filters[key];
      fillTypes(filters.event_type);
    },
  };
}
