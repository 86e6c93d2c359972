export class Numbers {
  constructor(element, kpis, context) { this.el = element; this.kpis = kpis; this.context = context; }
  async refresh() {}
  resize() {}
}
