// form-js (a separate chunk, with its CSS): renders a Camunda form schema.
import { Form } from '@bpmn-io/form-js';
import '@bpmn-io/form-js/dist/assets/form-js.css';

export async function renderForm(container, schema, data) {
  const form = new Form({ container });
  await form.importSchema(schema, data);
  return form;
}
