import { el } from "./dom.js";
import { EVENT_TYPE_GROUPS } from "./event-types.js";
import { PRESETS, type Preset, presetSince } from "./time-format.js";
import { FILTER_KEYS, type FilterKey, type Filters } from "./url-state.js";

/** The filter form of the page shell: shows a view's filters and reports the ones a person applies. */
export interface FilterForm {
  fill(filters: Filters): void;
}

/** The text fields and selects of the form; types are checkboxes, read apart. */
type FieldKey = Exclude<FilterKey, "event_type">;

export function bindFilterForm(form: HTMLFormElement, apply: (filters: Filters) => void): FilterForm {
  const field = (name: FieldKey) => {
    const control = form.elements.namedItem(name);
    if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement)) {
      throw new Error(`the filter form has no ${name} field`);
    }
    return control;
  };
  const group = field("group") as HTMLSelectElement;
  const choices = form.querySelector<HTMLElement>("#type-choices");
  const chosenLabel = form.querySelector<HTMLElement>("#types-chosen");
  if (choices === null || chosenLabel === null) throw new Error("the filter form has no type choices");
  group.append(...Object.keys(EVENT_TYPE_GROUPS).map((name) => el("option", { value: name }, name)));
  choices.append(
    ...Object.entries(EVENT_TYPE_GROUPS).map(([name, types]) =>
      el(
        "fieldset",
        { class: `type-group group-${name}` },
        el("legend", {}, name),
        ...types.map((type) =>
          el("label", {}, el("input", { type: "checkbox", name: "event_type", value: type }), ` ${type}`),
        ),
      ),
    ),
  );
  const boxes = () => Array.from(choices.querySelectorAll<HTMLInputElement>("input[name='event_type']"));
  const showChosen = () => {
    const count = boxes().filter((box) => box.checked).length;
    chosenLabel.textContent = count === 0 ? "all" : `${count} chosen`;
  };
  const read = (): Filters => {
    const filters = {} as Record<FilterKey, string>;
    for (const key of FILTER_KEYS) if (key !== "event_type") filters[key] = field(key).value.trim();
    filters.event_type = boxes()
      .filter((box) => box.checked)
      .map((box) => box.value)
      .join(",");
    return filters;
  };

  form.addEventListener("submit", (submit) => {
    submit.preventDefault(); // form-action 'none': the page never submits, it navigates itself
    apply(read());
  });
  group.addEventListener("change", () => apply(read()));
  // The search box's clear button (×) empties it: show everything again without waiting for Enter.
  field("q").addEventListener("input", () => {
    if (field("q").value === "") apply(read());
  });
  choices.addEventListener("change", () => {
    showChosen();
    apply(read());
  });
  form.addEventListener("reset", (reset) => {
    reset.preventDefault();
    apply(Object.fromEntries(FILTER_KEYS.map((key) => [key, ""])) as Filters);
  });
  form.addEventListener("click", (click) => {
    const button = click.target instanceof Element ? click.target.closest<HTMLElement>("[data-preset]") : null;
    const preset = button?.dataset.preset;
    if (preset === undefined || !Object.hasOwn(PRESETS, preset)) return;
    field("since").value = presetSince(preset as Preset);
    field("until").value = "";
    apply(read());
  });

  return {
    fill(filters) {
      for (const key of FILTER_KEYS) if (key !== "event_type") field(key).value = filters[key];
      const chosen = new Set(filters.event_type.split(","));
      for (const box of boxes()) box.checked = chosen.has(box.value);
      showChosen();
    },
  };
}
