// @ts-check
/**
 * TypeDoc plugin: `@displayType <text>` on an exported variable or type alias shows <text> as its
 * type instead of the inferred one. For zod schemas, whose inferred type spells out every field as nested
 * generics (hundreds of undocumentable members); the doc comment says what the value accepts
 * and returns instead.
 */
import { Application, Comment, Converter, ReflectionKind, UnknownType, makeRecursiveVisitor } from 'typedoc';

const TAG = '@displayType';

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_BOOTSTRAP_END, () => {
    const blockTags = app.options.getValue('blockTags');
    if (!blockTags.includes(TAG)) app.options.setValue('blockTags', [...blockTags, TAG]);
  });

  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const { project } = context;
    for (const variable of project.getReflectionsByKind(ReflectionKind.Variable | ReflectionKind.TypeAlias)) {
      const tag = variable.comment?.getTag(TAG);
      if (tag === undefined || variable.comment === undefined) continue;
      const text = Comment.combineDisplayParts(tag.content).trim();
      if (text === '') {
        app.logger.warn(`${variable.getFriendlyFullName()}: ${TAG} needs the type to show`);
        continue;
      }
      // The inferred type's anonymous object types are reflections of their own: drop them too.
      variable.type?.visit(
        makeRecursiveVisitor({
          reflection: (type) => project.removeReflection(type.declaration),
        }),
      );
      variable.type = new UnknownType(text);
      variable.comment.removeTags(TAG);
    }
  });
}
