// Auction times are printed in Japan time and UTC; add the visitor's own time zone, which only
// the browser knows. Without JavaScript the page still shows both.
document.addEventListener("DOMContentLoaded", () => {
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  for (const element of document.querySelectorAll("time[data-local-time]")) {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    const local = document.createElement("span");
    local.className = "local-time";
    local.textContent = ` · ${element.dataset.localLabel}: ${format.format(when)}`;
    element.append(local);
  }
});
