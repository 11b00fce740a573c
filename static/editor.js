// The message editor's two jobs htmx cannot do: drag-and-drop reordering of blocks, and inserting a
// variable where the cursor was. Everything else (and reordering by keyboard) is plain form posts.
(function () {
  "use strict";

  let lastField = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-variables]")) lastField = event.target;
  });

  document.addEventListener("click", function (event) {
    const item = event.target.closest("[data-insert-variable]");
    if (!item) return;
    const field = lastField && document.body.contains(lastField)
      ? lastField
      : document.querySelector("#editor-form [data-variables]");
    if (!field) return;
    const text = "{{ " + item.dataset.insertVariable + " }}";
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    item.closest("details")?.removeAttribute("open");
  });

  // A section the marketer opened stays open when the block list is drawn again.
  document.addEventListener("toggle", function (event) {
    const section = event.target;
    if (!section.matches || !section.matches("details[data-remember-open]")) return;
    const state = section.querySelector("[data-open-state]");
    if (state) state.value = section.open ? "1" : "";
  }, true);

  // Changes live in the page until Save: say so beside the Save button (the server says it again
  // whenever it draws the form, and clears it after a save).
  document.addEventListener("input", function (event) {
    if (!event.target.closest("#editor-form")) return;
    document.querySelectorAll("[data-save-state]").forEach((el) => { el.textContent = "Unsaved changes"; });
  });

  let dragged = null;
  document.addEventListener("dragstart", function (event) {
    // Only the handle drags, so text in the block's fields stays selectable with the mouse.
    const handle = event.target.closest && event.target.closest(".drag-handle");
    const block = handle && handle.closest("#block-list > .block");
    if (!block) return;
    dragged = block;
    block.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setDragImage(block, 24, 24);
    event.dataTransfer.setData("text/plain", block.dataset.block);
  });
  document.addEventListener("dragover", function (event) {
    const over = dragged && event.target.closest && event.target.closest("#block-list > .block");
    if (!over || over === dragged) return;
    event.preventDefault();
    document.querySelectorAll(".is-drop-target").forEach((el) => el.classList.remove("is-drop-target"));
    over.classList.add("is-drop-target");
  });
  document.addEventListener("drop", function (event) {
    const over = dragged && event.target.closest && event.target.closest("#block-list > .block");
    if (!over || over === dragged) return;
    event.preventDefault();
    const blocks = Array.from(over.parentNode.children);
    const after = blocks.indexOf(dragged) < blocks.indexOf(over);
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
    // The posted order of the hidden `block` inputs is the new order; the server renumbers.
    document.getElementById("reorder-button").click();
  });
  document.addEventListener("dragend", function () {
    document.querySelectorAll(".is-dragging, .is-drop-target").forEach((el) => {
      el.classList.remove("is-dragging", "is-drop-target");
    });
    dragged = null;
  });
})();
