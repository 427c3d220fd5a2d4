/* Live progress without reloading the page. The element marked data-l2g-live="N" holds the
   progress (its children with an id, and its labels: their text and value are kept up to date)
   and names, in data-l2g-outcome, the element that shows the result. While the page says the
   work runs, the same URL is fetched every N seconds and those parts are updated in place:
   nothing reloads, so focus and reading position stay put, and the status line (aria-live) is
   read out as it changes. A button pauses and resumes the updates (WCAG 2.2.1 and 2.2.2).
   Without JavaScript the page shows the progress as loaded, with a link to reload it. */
(function () {
  "use strict";
  var live = document.querySelector("[data-l2g-live]");
  if (!live || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = parseFloat(live.getAttribute("data-l2g-live")) || 2;
  var outcome = document.getElementById(live.getAttribute("data-l2g-outcome") || "");
  var paused = false;
  var timer = null;

  var controls = document.createElement("div");
  var hint = document.createElement("p");
  hint.className = "usa-hint";
  hint.textContent = "This page updates itself every " + seconds + " seconds until the work is done.";
  var button = document.createElement("button");
  button.type = "button";
  button.className = "usa-button usa-button--outline";
  button.textContent = "Pause automatic updates";
  controls.appendChild(hint);
  controls.appendChild(button);
  live.appendChild(controls);

  button.addEventListener("click", function () {
    paused = !paused;
    button.textContent = paused ? "Resume automatic updates" : "Pause automatic updates";
    window.clearTimeout(timer);
    if (!paused) {
      poll();
    }
  });

  function schedule() {
    window.clearTimeout(timer);
    if (!paused) {
      timer = window.setTimeout(poll, seconds * 1000);
    }
  }

  function counterpart(doc, element) {
    if (element.id) {
      return doc.getElementById(element.id);
    }
    return doc.querySelector('label[for="' + element.htmlFor + '"]');
  }

  function update(doc) {
    var parts = live.querySelectorAll("[id], label[for]");
    for (var i = 0; i < parts.length; i++) {
      var fresh = counterpart(doc, parts[i]);
      if (!fresh) {
        continue;
      }
      if (fresh.hasAttribute("value") && fresh.getAttribute("value") !== parts[i].getAttribute("value")) {
        parts[i].setAttribute("value", fresh.getAttribute("value"));
      }
      if (fresh.textContent !== parts[i].textContent) {
        parts[i].textContent = fresh.textContent;
      }
    }
    var freshOutcome = outcome && doc.getElementById(outcome.id);
    if (freshOutcome && freshOutcome.innerHTML !== outcome.innerHTML) {
      outcome.innerHTML = freshOutcome.innerHTML;
    }
  }

  function poll() {
    window.fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new window.DOMParser().parseFromString(html, "text/html");
        update(doc);
        if (doc.querySelector("[data-l2g-live]")) {
          schedule();
        } else {
          live.removeAttribute("data-l2g-live");
          live.removeChild(controls);
        }
      })
      .catch(schedule); // a network hiccup: try again at the next tick
  }

  schedule();
})();
