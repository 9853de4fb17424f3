// memory inspector: small progressive enhancements (the pages work without this file).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // a transcript opened from a fact's source: bring the highlighted turn into view
  let turn = document.querySelector(".turn.highlight");
  if (!turn && location.hash.startsWith("#turn-")) {
    turn = document.getElementById(location.hash.slice(1));
    if (turn) turn.classList.add("highlight");
  }
  if (turn) turn.scrollIntoView({ block: "center" });
  // mark a fact whose text was changed but not saved yet
  for (const input of document.querySelectorAll("input.fact-text")) {
    const original = input.value;
    input.addEventListener("input", () => {
      input.closest(".fact").classList.toggle("dirty", input.value !== original);
    });
  }
});
