// After a refused submission, put the keyboard and the screen reader on the first field
// to fix (WCAG 3.3.1), or on the form's message when the refusal is about the whole form.
const firstError = document.querySelector("main [aria-invalid='true']")
  || document.querySelector("main .form-errors");
if (firstError) {
  if (!firstError.matches("input, select, textarea")) firstError.setAttribute("tabindex", "-1");
  firstError.focus();
}
