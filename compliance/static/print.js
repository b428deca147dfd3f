// "Print my card": the page's print styles put the card alone on one card-sized page.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
