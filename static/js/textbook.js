// Our few lines of JavaScript. Everything works without them; they add the editor
// keys, the Edit/Reset buttons and slider/number pairing. htmx does the swapping.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");

  var INDENT = "    ";

  function insertText(area, text) {
    // execCommand keeps the browser's undo stack; fall back to setRangeText.
    if (!document.execCommand || !document.execCommand("insertText", false, text)) {
      area.setRangeText(text, area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function onEditorKey(event) {
    var area = event.target;
    if (!area.classList || !area.classList.contains("code-editor")) return;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      var form = area.form;
      var run = form.querySelector(".run-button");
      form.requestSubmit(run);
      return;
    }
    if (event.key === "Escape") {
      // Escape releases Tab so keyboard users can leave the editor (no focus trap).
      area.dataset.tabReleased = "true";
      return;
    }
    if (event.key === "Tab" && !event.ctrlKey && !event.altKey && area.dataset.tabReleased !== "true") {
      event.preventDefault();
      if (event.shiftKey) {
        var start = area.value.lastIndexOf("\n", area.selectionStart - 1) + 1;
        if (area.value.substr(start, INDENT.length) === INDENT) {
          area.setSelectionRange(start, start + INDENT.length);
          insertText(area, "");
        }
      } else {
        insertText(area, INDENT);
      }
      return;
    }
    if (event.key === "Enter" && !event.shiftKey) {
      var lineStart = area.value.lastIndexOf("\n", area.selectionStart - 1) + 1;
      var line = area.value.slice(lineStart, area.selectionStart);
      var indent = line.match(/^[ \t]*/)[0];
      if (/:\s*$/.test(line)) indent += INDENT;
      event.preventDefault();
      insertText(area, "\n" + indent);
    }
  }

  function setMode(snippet, mode) {
    var area = snippet.querySelector(".code-editor");
    var view = snippet.querySelector(".code-view");
    var edit = snippet.querySelector(".edit-button");
    area.dataset.mode = mode;
    view.hidden = mode === "edit";
    edit.hidden = mode === "edit";
  }

  function setUpSnippet(snippet) {
    if (snippet.dataset.ready) return;
    snippet.dataset.ready = "true";
    var area = snippet.querySelector(".code-editor");
    setMode(snippet, area.dataset.edited === "true" ? "edit" : "view");
    snippet.querySelector(".edit-button").addEventListener("click", function () {
      setMode(snippet, "edit");
      area.focus();
    });
    snippet.querySelector(".reset-button").addEventListener("click", function (event) {
      event.preventDefault();
      area.value = snippet.querySelector("template.original-code").content.textContent;
      area.dataset.edited = "false";
      setMode(snippet, "view");
      var output = snippet.querySelector(".run-output");
      output.innerHTML = "";
    });
    area.addEventListener("blur", function () { area.dataset.tabReleased = "false"; });
    area.addEventListener("focus", function () { area.dataset.tabReleased = "false"; });
  }

  // A slider and its number box edit one value; only the number box has the name.
  function onPairedInput(event) {
    var source = event.target;
    var pair = source.dataset && source.dataset.pair;
    if (!pair) return;
    var partner = document.getElementById(pair);
    if (partner && partner.value !== source.value) partner.value = source.value;
  }

  function setUpAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".snippet").forEach(setUpSnippet);
  }

  document.addEventListener("keydown", onEditorKey);
  document.addEventListener("input", onPairedInput, true);
  document.addEventListener("DOMContentLoaded", function () { setUpAll(document); });
  document.addEventListener("htmx:load", function (event) { setUpAll(event.target); });

  // A chart still being fetched when its results are replaced (the slider moved on) is
  // abandoned: aborting lets the server drop the render if it has not started.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var element = event.target;
    if (element.classList && element.classList.contains("chart-pending") && window.htmx) {
      window.htmx.trigger(element, "htmx:abort");
    }
  });
})();
