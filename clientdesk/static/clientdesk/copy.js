/*
 * The "Copy" buttons next to a secret shown once: an API key's token and its curl example
 * (portal and staff API keys), a webhook's signing secret (staff console). Without
 * JavaScript the text is still in a read-only field to select and copy by hand.
 *
 *   <input id="api-token" readonly data-select-on-focus>
 *   <button type="button" data-copy-target="api-token" data-copy-status="api-token-status">
 *
 * The target may be an input or any element (a <pre>: its text). When copying is blocked
 * the text is selected and the status says so; the script tag's data-copy-what names what
 * was selected ("the secret is selected"), "text" by default:
 *
 *   <script src="…/copy.js" data-copy-what="secret" defer nonce="…"></script>
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var what = (script && script.getAttribute("data-copy-what")) || "text";

  function say(statusId, text) {
    var status = statusId && document.getElementById(statusId);
    if (status) {
      status.textContent = text;
    }
  }

  function valueOf(element) {
    return "value" in element && element.tagName !== "PRE" ? element.value : element.textContent;
  }

  function selectAll(element) {
    if (typeof element.select === "function") {
      element.focus();
      element.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyFrom(element) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(valueOf(element));
    }
    selectAll(element);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var element = document.getElementById(button.getAttribute("data-copy-target"));
    var statusId = button.getAttribute("data-copy-status");
    if (!element) {
      return;
    }
    copyFrom(element).then(
      function () {
        say(statusId, "Copied to the clipboard.");
      },
      function () {
        selectAll(element);
        say(statusId, "Copying is blocked here: the " + what + " is selected, press Ctrl+C (⌘C) to copy it.");
      }
    );
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });
})();
